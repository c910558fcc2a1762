"""Methods built on the engines: which engine runs a method (choice.py), and the generator method."""
