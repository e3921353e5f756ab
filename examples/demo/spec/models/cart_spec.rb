RSpec.describe Shop::Cart do
  let(:apple) { Shop::Item.new("apple", 50) }

  it "starts empty" do
    expect(described_class.new.items).to be_empty
  end

  it "adds items with a quantity" do
    sleep 0.4
    expect(described_class.new.add(apple, 3).items.size).to eq(3)
  end

  it "refuses a zero quantity" do
    expect { described_class.new.add(apple, 0) }.to raise_error(ArgumentError, /positive/)
  end

  it "totals its items" do
    sleep 0.4
    expect(described_class.new.add(apple, 2).total_cents).to eq(100)
  end
end
