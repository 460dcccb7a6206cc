"""Research pipelines: papermill notebooks run in order, unattended, with the same code as by hand.

- spec: the pipeline YAML (steps, notebooks, parameters), validated against the notebooks
- runner: papermill execution into var/runs/<timestamp>/, progress, failures naming notebook and
  cell, the MLflow record of the run
- kernel: a Jupyter kernel that runs this interpreter (the venv's python)
- research: the functions the notebooks call, and the run-directory hand-off between them
- figures: the notebooks' market and indicator figures
- cli: `hftlab pipeline run|validate FILE [-p key=value]`
"""
