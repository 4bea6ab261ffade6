"""What every level of the hierarchy shares: plan and result models, model providers, the MCP connection pool,
config loading and the plan executor. No MCP server lives here."""
