RSpec.describe Shop::Discount do
  [0, 10, 25, 50, 100].each do |percent|
    it "takes #{percent}% off" do
      sleep 0.25
      expect(described_class.apply(1000, percent)).to eq(1000 - 10 * percent)
    end
  end

  it "rejects a discount over 100%" do
    expect { described_class.apply(1000, 120) }.to raise_error(ArgumentError)
  end

  it "rounds to whole cents" do
    pending "rounding of half cents is not decided yet"
    expect(described_class.apply(999, 50)).to eq(499)
  end
end
