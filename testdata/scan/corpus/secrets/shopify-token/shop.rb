ShopifyAPI::Context.setup(api_key: 'k', access_token: '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')

ShopifyAPI::Context.setup(api_key: 'k', access_token: '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')
