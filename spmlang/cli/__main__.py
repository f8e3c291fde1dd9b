"""``python -m spmlang.cli``: the ``spm`` command."""

from spmlang.cli import main

if __name__ == "__main__":
    main()
