"""``python -m simulation`` runs the ``khorasan`` command line."""

from simulation.cli import main

if __name__ == "__main__":
    main()
