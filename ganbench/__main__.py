"""``python -m ganbench`` entry point."""

from ganbench.cli import main

if __name__ == "__main__":
    main()
