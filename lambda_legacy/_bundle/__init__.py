"""``lambda-legacy bundle``: a go1.x deployment zip that carries its own Python and glibc.

Theory of operation. go1.x starts ``/var/task/<Handler>`` as an executable, in an image with glibc
2.17 and no usable Python; provided.al2 has glibc 2.26 and no Python at all. So the zip carries the
build machine's interpreter, standard library and every shared library they need, glibc and its
dynamic loader included, and the Handler is a small POSIX ``sh`` launcher that runs the bundled
Python *through the bundled loader* (``ld-linux-x86-64.so.2 --library-path DIR python ...``): the
loader then finds every library in ``DIR`` and never reads Lambda's ``LD_LIBRARY_PATH``, whose host
directories come first. Children of the function inherit the environment unchanged.

One module per job: :mod:`._elf` reads ELF headers, :mod:`._layout` names the paths inside the
zip, :mod:`._interpreter` stages Python, :mod:`._libraries` gathers and verifies the shared-library
closure, :mod:`._packages` installs lambda-legacy, its dependencies and the user's requirements,
:mod:`._compile` writes reproducible bytecode, :mod:`._launcher` writes the launchers,
:mod:`._zipfile` writes the deterministic zip, :mod:`._build` runs the steps and :mod:`._check`
inspects any zip for the faults that stop a go1.x function from starting.

This package imports nothing at import time, so the entry inside a bundle stays light.
"""
