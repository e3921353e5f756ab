# A tiny shop: carts, prices and discounts.
module Shop
  Item = Struct.new(:name, :price_cents)

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
  end

  module Discount
    def self.apply(total_cents, percent)
      raise ArgumentError, "percent must be 0..100" unless (0..100).cover?(percent)

      (total_cents * (100 - percent) / 100.0).round
    end
  end
end
