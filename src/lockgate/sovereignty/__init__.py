"""lockgate.sovereignty"""
