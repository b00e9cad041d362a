"""Where messaging plugs into the apps below it: the notifications their events cause, and the job
workspace's Messages tab."""


def install() -> None:
    pass
