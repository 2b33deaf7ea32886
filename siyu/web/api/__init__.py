"""HTTP routers of the shopper app and admin API, one module per domain. A domain
package holds models, rules, service and schemas and knows nothing of HTTP; its routes
live here (the way Saleor keeps ``saleor/graphql/<domain>/`` apart from ``saleor/<domain>/``)."""
