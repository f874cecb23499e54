"""stackkit: bring up, check and measure a self-hosted LLM observability stack (Phoenix, Alloy, AI demo)."""
