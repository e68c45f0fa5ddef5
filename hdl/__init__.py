"""Hardware: SC network configuration, Amaranth RTL and the bit-exact golden model."""
