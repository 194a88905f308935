"""`python3 -m featgen ...`: the same command line as the `featgen` script."""

from featgen.cli import main

if __name__ == "__main__":
    main(prog_name="featgen")
