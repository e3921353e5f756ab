RSpec.describe Shop::Inventory do
  subject(:inventory) { described_class.new("tea" => 5, "mug" => 1) }

  it "knows what is in stock" do
    sleep 0.3
    expect(inventory.available("tea")).to eq(5)
    expect(inventory.available("kettle")).to eq(0)
  end

  it "reserves stock" do
    sleep 0.3
    inventory.reserve("tea", 2)
    expect(inventory.available("tea")).to eq(3)
  end

  it "refuses to reserve more than it has" do
    sleep 0.3
    expect { inventory.reserve("mug", 2) }.to raise_error(Shop::Inventory::OutOfStock, "only 1 mug left")
  end

  it "restocks" do
    sleep 0.3
    inventory.restock("mug", 4)
    expect(inventory.available("mug")).to eq(5)
  end
end
