"""Every write of the closeout app, one module per topic: checklists, documents, signatures, quality,
incidents, and the blockers' waivers and confirmations. Each action is atomic and writes the job's
timeline event in the same transaction; a refused call raises a DomainError having changed nothing."""
