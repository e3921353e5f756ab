RSpec.describe Shop::Item do
  it "has a name and a price" do
    sleep 0.3
    item = described_class.new("pear", 70)
    expect([item.name, item.price_cents]).to eq(["pear", 70])
  end

  it "compares by value" do
    expect(described_class.new("pear", 70)).to eq(described_class.new("pear", 70))
  end
end
