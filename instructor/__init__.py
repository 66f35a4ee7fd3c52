"""Instructor tools: the solutions of the graded exercises and the build of the instructor
(nbgrader source) version of the chapters; see instructor/README.md."""
