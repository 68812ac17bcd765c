from tests.unit.training.conftest import fault_store, small_config  # noqa: F401  (shared fixtures)
