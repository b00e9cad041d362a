// documents: see the closeout app
