"""iamcli: IBM Cloud and IBM Cloud Private IAM on the command line."""

__version__ = "0.1.0"
