"""stochflow: a closed-loop flow for stochastic-computing spiking neural networks on FPGAs.

The subpackages live in top-level folders of the repository (hdl/, flow/, parsers/,
surrogate/, sim/) and are mapped into this namespace by setuptools.
"""

__version__ = "0.1.0"
