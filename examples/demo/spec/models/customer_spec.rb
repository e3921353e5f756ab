RSpec.describe Shop::Customer do
  it "is valid with a name and an email address" do
    sleep 0.3
    expect(described_class.new("Ada", "ada@example.com", "DE")).to be_valid
  end

  ["", "ada", "ada@", "ada@example", "a da@example.com"].each do |email|
    it "is not valid with the email #{email.inspect}" do
      sleep 0.1
      expect(described_class.new("Ada", email, "DE")).not_to be_valid
    end
  end

  it "is not valid without a name" do
    expect(described_class.new("  ", "ada@example.com", "DE")).not_to be_valid
  end
end
