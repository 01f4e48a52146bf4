require 'stripe'
Stripe.api_key = 'sk_live_FZiXWGjOVZHvYcYm5QDQjJAC'

require 'stripe'
Stripe.api_key = 'sk_live_BWzf8C4WpuXV4doIPTOdotmd'
