RSpec.describe Shop::Shipping do
  def cart(price_cents, weight_grams, quantity = 1)
    Shop::Cart.new.add(Shop::Item.new("parcel", price_cents, weight_grams), quantity)
  end

  it "charges the zone's base rate up to one kilogram" do
    sleep 0.35
    expect(described_class.cost_cents(cart(1000, 1000), "europe")).to eq(990)
  end

  it "adds a euro per started kilogram above the first" do
    sleep 0.35
    expect(described_class.cost_cents(cart(1000, 2500), "world")).to eq(1990 + 200)
  end

  it "ships for free at home from 50 euros" do
    sleep 0.35
    expect(described_class.cost_cents(cart(2500, 500, 2), "domestic")).to eq(0)
    expect(described_class.cost_cents(cart(2500, 500, 2), "europe")).to eq(990)
  end

  it "does not ship to unknown zones" do
    sleep 0.35
    expect { described_class.cost_cents(cart(100, 100), "moon") }.to raise_error(ArgumentError, /moon/)
  end
end
