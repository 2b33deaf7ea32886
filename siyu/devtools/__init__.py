"""Developer tools that sit above the domains: demo store seeding and the shopper
simulator (history for analytics, load for benches). Never imported by the running
store itself."""
