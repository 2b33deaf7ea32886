"""aftersale."""
