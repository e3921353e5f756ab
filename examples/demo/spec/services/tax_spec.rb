RSpec.describe Shop::Tax do
  { "DE" => 190, "FR" => 200, "LU" => 170, "US" => 0 }.each do |region, cents|
    it "charges #{cents} cents on 10 euros in #{region}" do
      sleep 0.25
      expect(described_class.cents(1000, region)).to eq(cents)
    end
  end

  it "rounds half cents up" do
    expect(described_class.cents(50, "LU")).to eq(9) # 8.5 cents
  end
end
