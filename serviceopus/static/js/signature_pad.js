// signature_pad: see the closeout app
