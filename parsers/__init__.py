"""Parsers: Lark grammars that read tool reports into typed report objects."""
