"""Import Great Expectations without the modules it loads and this project's checks never call.

``import great_expectations`` imports every core expectation and renderer. One expectation
(``expect_column_kl_divergence_to_be_less_than``, which no suite here uses) runs ``from scipy
import stats`` at module level: ~530 modules and ~1 s of the 3.9-5.0 s that GX's import costs
every task process that checks files (2026-12-07, alternating: 3.9 / 4.4 / 5.0 s plain against
3.0 / 3.4 / 4.1 s without it). Its renderers import altair for the charts of profiling
expectations, which our Data Docs of validation results never draw: ~110 modules and another
~0.4 s (median of six alternating imports 3.27 -> 2.75 s). Each is registered as a module whose
code runs on the first read of a name it lacks: from then on it is the real module, whoever
asks (``stats.entropy(...)`` loads scipy.stats and answers).

``importlib.util.LazyLoader`` is not used: on Python 3.11 the import statement itself reads the
module's ``__spec__``, which makes a LazyLoader module load at once. Here the spec, name and path
are ordinary attributes; only a name the module does not have yet runs it.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from typing import Any

DEFERRED = ("scipy.stats", "altair")


# Held while a deferred module runs: a second thread reading it meanwhile waits for the module
# instead of finding it half run (what the import system's own module locks do for an import).
_RUNNING = threading.RLock()


class _RunsOnFirstUse(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # only called for names the module lacks
        with _RUNNING:
            if type(self) is _RunsOnFirstUse:  # not run yet (another thread may have run it meanwhile)
                self.__class__ = _Running  # its own code may read it back (a circular import) while it runs
                try:
                    self.__spec__.loader.exec_module(self)
                except BaseException:  # as a failed import leaves it: the next import tries again
                    sys.modules.pop(self.__name__, None)
                    raise
                finally:
                    self.__class__ = types.ModuleType
        return getattr(self, name)


class _Running(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        with _RUNNING:  # another thread: wait until it has run; the running thread: what it has so far
            pass
        try:
            return self.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None


def import_gx() -> types.ModuleType:
    """``great_expectations``, with the DEFERRED modules run on their first use (those not loaded yet)."""
    for name in DEFERRED:
        try:
            spec = None if name in sys.modules else importlib.util.find_spec(name)
        except ModuleNotFoundError:  # not installed: GX's own import will say so
            spec = None
        if spec is not None:
            module = importlib.util.module_from_spec(spec)
            module.__class__ = _RunsOnFirstUse
            sys.modules[name] = module
    import great_expectations

    return great_expectations
