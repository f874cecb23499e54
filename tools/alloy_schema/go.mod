module stackkit.dev/alloy_schema

go 1.22
