"""The pod runtime of the e2e tier: runs the pods of the kwok node whose images it knows as local
processes (see kubelet.py and the image table in images.py)."""
