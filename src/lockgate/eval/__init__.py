"""lockgate.eval"""
