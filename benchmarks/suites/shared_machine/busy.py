"""A busy process for the shared-machine suite: a Python loop that never sleeps, until it is killed."""

import argparse

if __name__ == "__main__":
    argparse.ArgumentParser(description=__doc__).parse_args()
    while True:
        pass
