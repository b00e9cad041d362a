"""Route-aware day planning: the problem and plan model (model.py), travel times (travel.py) and the
independent plan validator (validator.py). Nothing here knows a solver; solvers read a `Problem` and
return a `Plan`, and every plan is validated before anyone sees it."""
