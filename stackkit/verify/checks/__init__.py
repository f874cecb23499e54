"""`invoke verify`'s checks, one module per concern. Importing this package registers every check; the
static ones run in the order of these imports, the runtime ones by their Stage (then this order)."""

# isort: off
from stackkit.verify.checks import alloy  # noqa: F401  (each module registers its checks with @check)
from stackkit.verify.checks import alloy_exporter  # noqa: F401
from stackkit.verify.checks import alloy_pipeline  # noqa: F401
from stackkit.verify.checks import alloy_running  # noqa: F401
from stackkit.verify.checks import schema  # noqa: F401
from stackkit.verify.checks import stability  # noqa: F401
from stackkit.verify.checks import compose  # noqa: F401
from stackkit.verify.checks import queue  # noqa: F401
from stackkit.verify.checks import otelcol  # noqa: F401
from stackkit.verify.checks import phoenix  # noqa: F401
from stackkit.verify.checks import sdk  # noqa: F401
from stackkit.verify.checks import security  # noqa: F401
from stackkit.verify.checks import remote  # noqa: F401
from stackkit.verify.checks import pipeline  # noqa: F401
from stackkit.verify.checks import clients  # noqa: F401
from stackkit.verify.checks import phoenix_health  # noqa: F401
from stackkit.verify.checks import running  # noqa: F401
# isort: on
