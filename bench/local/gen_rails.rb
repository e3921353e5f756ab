#!/usr/bin/env ruby
# frozen_string_literal: true
# Writes a small Rails 6.1 application by hand (no `rails new`, no Bundler: Debian's ruby-rails,
# ruby-rspec-rails and ruby-sqlite3 are required straight from the system gems), with MODELS
# models, a JSON controller per model, and FILES spec files (model and request specs).
# Each slot gets its own sqlite database db/test$TEST_ENV_NUMBER.sqlite3, its schema loaded by
# spec/rails_helper.rb when missing.
#
#   ruby bench/local/gen_rails.rb DIR [--models 6] [--files 36]
require "fileutils"
require "json"

dir = ARGV.shift or abort("usage: gen_rails.rb DIR [--models N] [--files N]")
opts = { models: 6, files: 36 }
until ARGV.empty?
  case (flag = ARGV.shift)
  when "--models" then opts[:models] = Integer(ARGV.shift)
  when "--files" then opts[:files] = Integer(ARGV.shift)
  else abort("gen_rails.rb: unknown flag #{flag}")
  end
end

FileUtils.rm_rf(dir)
def write(dir, path, text)
  full = File.join(dir, path)
  FileUtils.mkdir_p(File.dirname(full))
  File.write(full, text)
end

models = Array.new(opts[:models]) { |i| "Widget#{i}" }
tables = models.map { |m| "#{m.downcase}s" }

write dir, "config/application.rb", <<~RUBY
  require "rails"
  require "active_record/railtie"
  require "action_controller/railtie"

  module BenchApp
    class Application < Rails::Application
      config.load_defaults 6.1
      config.root = File.expand_path("..", __dir__)
      config.api_only = true
      config.eager_load = false
      config.logger = Logger.new(nil)
      config.active_support.deprecation = :silence
      config.secret_key_base = "bench" * 8
    end
  end
RUBY
write dir, "config/environment.rb", <<~RUBY
  require_relative "application"
  Rails.application.initialize!
RUBY
write dir, "config/database.yml", <<~YAML
  test:
    adapter: sqlite3
    database: db/test<%= ENV['TEST_ENV_NUMBER'] %>.sqlite3
    pool: 5
    timeout: 5000
YAML
write dir, "config/routes.rb", <<~RUBY
  Rails.application.routes.draw do
  #{tables.map { |t| "  resources :#{t}, only: %i[index show create]" }.join("\n")}
  end
RUBY
write dir, "app/models/application_record.rb", <<~RUBY
  class ApplicationRecord < ActiveRecord::Base
    self.abstract_class = true
  end
RUBY
write dir, "app/controllers/application_controller.rb", "class ApplicationController < ActionController::API\nend\n"
schema = +"ActiveRecord::Schema.define(version: 1) do\n"
models.each_with_index do |m, i|
  t = tables[i]
  schema << "  create_table :#{t}, force: true do |t|\n    t.string :name, null: false\n    t.integer :count, default: 0\n    t.timestamps\n  end\n"
  write dir, "app/models/#{m.downcase}.rb", <<~RUBY
    class #{m} < ApplicationRecord
      validates :name, presence: true, length: { maximum: 40 }
      validates :count, numericality: { greater_than_or_equal_to: 0 }
      scope :big, -> { where("count > ?", 10) }
      def label = "\#{name} (\#{count})"
    end
  RUBY
  write dir, "app/controllers/#{t}_controller.rb", <<~RUBY
    class #{m}sController < ApplicationController
      def index = render(json: #{m}.order(:id).map { |w| { id: w.id, label: w.label } })
      def show = render(json: #{m}.find(params[:id]).as_json(only: %i[id name count]))

      def create
        record = #{m}.new(params.require(:#{m.downcase}).permit(:name, :count))
        if record.save
          render json: { id: record.id }, status: :created
        else
          render json: { errors: record.errors.full_messages }, status: :unprocessable_entity
        end
      end
    end
  RUBY
end
schema << "end\n"
write dir, "db/schema.rb", schema

write dir, ".rspec", "--require spec_helper\n"
write dir, "spec/spec_helper.rb", <<~RUBY
  RSpec.configure do |config|
    config.expect_with(:rspec) { |c| c.syntax = :expect }
  end
RUBY
write dir, "spec/rails_helper.rb", <<~RUBY
  ENV["RAILS_ENV"] ||= "test"
  require_relative "../config/environment"
  require "rspec/rails"

  # One database per slot (db/test$TEST_ENV_NUMBER.sqlite3); its schema is loaded once.
  unless ActiveRecord::Base.connection.table_exists?(:#{tables.last})
    ActiveRecord::Schema.verbose = false
    load Rails.root.join("db/schema.rb").to_s
  end

  RSpec.configure do |config|
    config.use_transactional_fixtures = true
    config.infer_spec_type_from_file_location!
  end
RUBY

examples = 0
opts[:files].times do |i|
  m = models[i % models.size]
  t = tables[i % models.size]
  if i.even?
    write dir, format("spec/models/%s_%02d_spec.rb", m.downcase, i), <<~RUBY
      require "rails_helper"

      RSpec.describe #{m}, type: :model do
        describe "validations" do
          it "needs a name" do
            expect(#{m}.new(name: "")).not_to be_valid
          end
          it "refuses a negative count" do
            expect(#{m}.new(name: "a", count: -1)).not_to be_valid
          end
          it "accepts a good record" do
            expect(#{m}.new(name: "ok #{i}", count: #{i})).to be_valid
          end
        end

        describe ".big" do
          before { 20.times { |n| #{m}.create!(name: "w\#{n}", count: n) } }
          it "finds the big ones" do
            expect(#{m}.big.count).to eq(9)
          end
          it "labels them" do
            expect(#{m}.big.order(:count).first.label).to eq("w11 (11)")
          end
        end
      end
    RUBY
    examples += 5
  else
    write dir, format("spec/requests/%s_%02d_spec.rb", t, i), <<~RUBY
      require "rails_helper"

      RSpec.describe "/#{t}", type: :request do
        before { 3.times { |n| #{m}.create!(name: "r\#{n}", count: n) } }

        it "lists them" do
          get "/#{t}"
          expect(response).to have_http_status(:ok)
          expect(JSON.parse(response.body).size).to eq(3)
        end

        it "shows one" do
          get "/#{t}/\#{#{m}.first.id}"
          expect(JSON.parse(response.body)["name"]).to eq("r0")
        end

        context "when creating" do
          it "creates a good one" do
            post "/#{t}", params: { #{m.downcase}: { name: "new", count: 2 } }
            expect(response).to have_http_status(:created)
            expect(#{m}.count).to eq(4)
          end
          it "refuses a bad one" do
            post "/#{t}", params: { #{m.downcase}: { name: "", count: 2 } }
            expect(response).to have_http_status(:unprocessable_entity)
          end
        end
      end
    RUBY
    examples += 4
  end
end
File.write(File.join(dir, "manifest.json"), JSON.pretty_generate(files: opts[:files], examples: examples, models: opts[:models]))
puts JSON.generate(files: opts[:files], examples: examples)
