"""Simulation: cocotb benches on Verilator, activity recording and energy accounting."""
