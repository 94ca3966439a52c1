"""lockgate.engines"""
