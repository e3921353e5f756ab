RSpec.describe Shop::Invoice do
  let(:customer) { Shop::Customer.new("Ada", "ada@example.com", "DE") }
  let(:cart) do
    Shop::Cart.new.add(Shop::Item.new("tea", 400), 3).add(Shop::Item.new("mug", 900))
  end

  it "numbers itself" do
    sleep 0.3
    expect(described_class.new(42, customer).number).to eq("INV-000042")
  end

  it "has one line per item with its quantity" do
    sleep 0.4
    lines = described_class.new(1, customer).add_cart(cart).lines
    expect(lines.map(&:to_a)).to eq([["tea", 3, 400], ["mug", 1, 900]])
  end

  it "adds the customer's tax to the net total" do
    sleep 0.4
    invoice = described_class.new(1, customer).add_cart(cart)
    expect([invoice.net_cents, invoice.tax_cents, invoice.gross_cents]).to eq([2100, 399, 2499])
  end

  it "adds up a year of invoices to the cent" do
    # Real work instead of a sleep: a hundred thousand invoices.
    total = (1..100_000).sum do |n|
      invoice = described_class.new(n, customer)
      invoice.add_cart(Shop::Cart.new.add(Shop::Item.new("tea", 100 + n % 7), 1 + n % 3))
      invoice.gross_cents
    end
    # Each is 1 to 3 teas at 1.00 to 1.06 euros, plus 19 % tax.
    expect(total).to be_between(100_000 * 119, 100_000 * 379)
  end
end
