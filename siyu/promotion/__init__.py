"""Store promotions: full reduction, N-item discount, bundle, member price."""
