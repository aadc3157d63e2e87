"""What the command line prints: one module per command, each rendering an ``api`` result on a rich
``Console`` it is given (never one of its own), and ``files`` for the outputs ``-o`` writes.

``text`` holds the number and name formats the modules share. Nothing here computes a cost or reads
a serialized document: the figures come from the typed results.
"""
