RSpec.describe "Catalogue search" do
  let(:catalogue) do
    %w[green\ tea black\ tea tea\ pot mug kettle teaspoon milk\ jug].map.with_index do |name, i|
      Shop::Item.new(name, 300 + 100 * i)
    end
  end

  def search(query)
    sleep 0.3 # stands in for a query against a search index
    catalogue.select { |item| item.name.include?(query) }.map(&:name)
  end

  it "finds items by a word in their name" do
    expect(search("tea")).to eq(["green tea", "black tea", "tea pot", "teaspoon"])
  end

  it "finds nothing for an unknown word" do
    expect(search("coffee")).to be_empty
  end

  it "sorts the cheapest first" do
    sleep 0.3
    expect(catalogue.min_by(&:price_cents).name).to eq("green tea")
  end

  it "prices every item in whole euros" do
    sleep 0.3
    expect(catalogue.map(&:price_cents)).to all(satisfy { |cents| (cents % 100).zero? })
  end
end
