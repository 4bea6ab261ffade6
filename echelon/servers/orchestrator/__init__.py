"""The top MCP server: plans phases (StrategicPlanner), routes them to managers, answers."""
