// checklists: see the closeout app
