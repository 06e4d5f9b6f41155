"""Settings for the whole test session.

OpenMP (scikit-learn's gradient boosting) and BLAS start a thread per core for every call.
The tests make thousands of tiny calls (one-row queries of attacks, crash isolation), where
starting and synchronising those threads costs far more than the work, and much more again
on a machine whose cores are busy. One thread each, unless the environment says otherwise;
set here, before any test module imports scikit-learn or numpy, so that subprocesses (the
examples, pytester sessions, process pools and Dask workers) inherit it too.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
