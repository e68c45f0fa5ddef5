"""One module per ``stochflow`` subcommand, each with ``register(subparsers)``."""
