"""The shapes the APIs answer in: papertide's own ``/api/v1`` (pydantic models, the OpenAPI schema) and hf.co's
papers API, built from the same rows as the pages."""
