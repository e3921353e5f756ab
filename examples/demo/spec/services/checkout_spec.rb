RSpec.describe "Checkout" do
  let(:cart) { Shop::Cart.new.add(Shop::Item.new("tea", 400), 2) }

  it "charges the discounted total" do
    sleep 0.5
    expect(Shop::Discount.apply(cart.total_cents, 25)).to eq(600)
  end

  it "works for an empty cart" do
    sleep 0.3
    expect(Shop::Discount.apply(Shop::Cart.new.total_cents, 25)).to eq(0)
  end

  it "uses this slot's own database" do
    # parallel_tests' convention, which specswarm follows: "" for the first slot, then "2", "3"...
    database = "shop_test#{ENV['TEST_ENV_NUMBER']}"
    expect(database).to start_with("shop_test")
  end
end
