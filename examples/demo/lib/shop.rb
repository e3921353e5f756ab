# A tiny shop: items, carts, stock, customers, discounts, shipping, tax and invoices.
module Shop
  Item = Struct.new(:name, :price_cents, :weight_grams) do
    def initialize(name, price_cents, weight_grams = 0)
      super
    end
  end

  class Cart
    attr_reader :items

    def initialize
      @items = []
    end

    def add(item, quantity = 1)
      raise ArgumentError, "quantity must be positive" unless quantity.positive?

      quantity.times { @items << item }
      self
    end

    def total_cents
      @items.sum(&:price_cents)
    end

    def weight_grams
      @items.sum(&:weight_grams)
    end
  end

  class Inventory
    OutOfStock = Class.new(StandardError)

    def initialize(stock = {})
      @stock = Hash.new(0).merge(stock)
    end

    def available(name)
      @stock[name]
    end

    def reserve(name, quantity)
      raise OutOfStock, "only #{@stock[name]} #{name} left" if @stock[name] < quantity

      @stock[name] -= quantity
    end

    def restock(name, quantity)
      @stock[name] += quantity
    end
  end

  Customer = Struct.new(:name, :email, :region) do
    def valid?
      !name.to_s.strip.empty? && email.to_s.match?(/\A[^@\s]+@[^@\s]+\.[a-z]{2,}\z/i)
    end
  end

  module Discount
    def self.apply(total_cents, percent)
      raise ArgumentError, "percent must be 0..100" unless (0..100).cover?(percent)

      (total_cents * (100 - percent) / 100.0).round
    end
  end

  module Shipping
    ZONES = { "domestic" => 490, "europe" => 990, "world" => 1990 }.freeze
    FREE_FROM_CENTS = 5000

    # Base rate per zone, plus 1 euro per started kilogram above the first one.
    def self.cost_cents(cart, zone)
      base = ZONES.fetch(zone) { raise ArgumentError, "unknown zone #{zone}" }
      return 0 if zone == "domestic" && cart.total_cents >= FREE_FROM_CENTS

      extra_kilos = [(cart.weight_grams - 1) / 1000, 0].max
      base + 100 * extra_kilos
    end
  end

  module Tax
    RATES = { "DE" => 19, "FR" => 20, "LU" => 17 }.freeze

    def self.cents(net_cents, region)
      (net_cents * RATES.fetch(region, 0) / 100.0).round
    end
  end

  class Invoice
    Line = Struct.new(:name, :quantity, :unit_cents)

    attr_reader :number, :lines

    def initialize(number, customer)
      @number = format("INV-%06d", number)
      @customer = customer
      @lines = []
    end

    def add_cart(cart)
      cart.items.group_by(&:name).each do |name, items|
        @lines << Line.new(name, items.size, items.first.price_cents)
      end
      self
    end

    def net_cents
      @lines.sum { |l| l.quantity * l.unit_cents }
    end

    def tax_cents
      Tax.cents(net_cents, @customer.region)
    end

    def gross_cents
      net_cents + tax_cents
    end
  end
end
